-- Portable SQL only: this file runs unchanged on H2 2.x and PostgreSQL.
-- A plugin id belongs to its first publisher: the primary key decides which of two first uploads wins, and every
-- later upload of the id by another publisher is refused.
CREATE TABLE registry_plugin_owners (
    plugin_id  VARCHAR(200) PRIMARY KEY,
    publisher  VARCHAR(200) NOT NULL,
    claimed_at TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Ids published before owners were recorded belong to the publisher of their earliest version.
INSERT INTO registry_plugin_owners (plugin_id, publisher, claimed_at)
SELECT e.plugin_id, MIN(e.publisher), MIN(e.published_at)
FROM registry_entries e
WHERE e.published_at = (SELECT MIN(f.published_at) FROM registry_entries f WHERE f.plugin_id = e.plugin_id)
GROUP BY e.plugin_id;
