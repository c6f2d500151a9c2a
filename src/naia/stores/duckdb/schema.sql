CREATE TABLE IF NOT EXISTS naia_points (
    point_id UINTEGER PRIMARY KEY,
    source_address VARCHAR NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS naia_states (
    state_id UINTEGER PRIMARY KEY,
    state VARCHAR NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS naia_values (
    ts TIMESTAMPTZ NOT NULL,
    point_id UINTEGER NOT NULL,
    value DOUBLE,
    state_id UINTEGER NOT NULL,  -- 0: no state
    seq_flags INTEGER NOT NULL  -- seq << 4 | annotated << 3 | substituted << 2 | questionable << 1 | good
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
