-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- Per node and plugin: the start attempt in progress (written before the plugin is started, closed once it has run
-- for its probation time or failed its start), how many starts in a row failed or ended with the process (a crash),
-- and a hold that keeps the plugin installed but stopped on this node until an admin enables it again:
-- 'crash-loop' (too many failed or crashed starts) or 'quarantined' (core saw it keep failing or timing out).
-- Only its node writes a row, except an admin's enable (clears holds on every node) and uninstall (deletes them).
CREATE TABLE plugin_node_guard (
    node_id         VARCHAR(200) NOT NULL,
    plugin_id       VARCHAR(200) NOT NULL,
    version         VARCHAR(100),
    attempt_id      VARCHAR(64),
    attempt_process VARCHAR(64),
    attempt_at      TIMESTAMP WITH TIME ZONE,
    failed_starts   INTEGER NOT NULL,
    last_failure    TEXT,
    hold            VARCHAR(32),
    hold_reason     TEXT,
    held_at         TIMESTAMP WITH TIME ZONE,
    updated_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT plugin_node_guard_pk PRIMARY KEY (node_id, plugin_id)
);
