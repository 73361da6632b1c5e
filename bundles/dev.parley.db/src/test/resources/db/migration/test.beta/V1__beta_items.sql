-- Another module numbers its files from 1 too.
CREATE TABLE beta_items (
    id VARCHAR(64) PRIMARY KEY
);
