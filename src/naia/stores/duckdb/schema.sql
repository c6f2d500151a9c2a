CREATE TABLE IF NOT EXISTS point_data (
    ts TIMESTAMPTZ NOT NULL,
    source_address VARCHAR NOT NULL,
    seq SMALLINT NOT NULL,
    value DOUBLE,
    state VARCHAR,
    good BOOLEAN NOT NULL,
    questionable BOOLEAN NOT NULL,
    substituted BOOLEAN NOT NULL,
    annotated BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS naia_checkpoints (
    request_id VARCHAR NOT NULL,
    unit_index INTEGER NOT NULL,
    value_count BIGINT NOT NULL,
    batch_count INTEGER NOT NULL,
    completed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (request_id, unit_index)
);
CREATE TABLE IF NOT EXISTS naia_requests (
    request_id VARCHAR PRIMARY KEY,
    body VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
