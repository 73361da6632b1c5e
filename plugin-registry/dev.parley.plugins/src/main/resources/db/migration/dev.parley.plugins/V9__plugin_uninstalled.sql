-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- Plugins an admin uninstalled: the desired row is gone, and this row remembers that someone chose so, so the plugins
-- the server ships are not installed again at the next start (ADR 11).
CREATE TABLE plugin_uninstalled (
    plugin_id      VARCHAR(200) PRIMARY KEY,
    version        VARCHAR(100),
    uninstalled_at TIMESTAMP WITH TIME ZONE NOT NULL,
    uninstalled_by VARCHAR(200) NOT NULL
);

-- Uninstalls from before this table existed, from the event history.
INSERT INTO plugin_uninstalled (plugin_id, version, uninstalled_at, uninstalled_by)
SELECT e.plugin_id, MAX(e.from_version), MAX(e.created_at), 'admin'
FROM plugin_events e
WHERE e.action = 'uninstall' AND e.outcome = 'ok'
  AND NOT EXISTS (SELECT 1 FROM plugin_desired d WHERE d.plugin_id = e.plugin_id)
GROUP BY e.plugin_id;
