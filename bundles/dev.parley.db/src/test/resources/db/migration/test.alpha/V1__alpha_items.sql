-- A module's first file: a table and an index; the semicolon in this comment ends nothing;
CREATE TABLE alpha_items (
    id         VARCHAR(64) PRIMARY KEY,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE INDEX alpha_items_created_idx ON alpha_items (created_at);
