CREATE OR REPLACE VIEW point_data AS
SELECT
    v.ts,
    p.source_address,
    (v.seq_flags >> 4)::SMALLINT AS seq,
    v.value,
    s.state,
    (v.seq_flags & 1) <> 0 AS good,
    (v.seq_flags & 2) <> 0 AS questionable,
    (v.seq_flags & 4) <> 0 AS substituted,
    (v.seq_flags & 8) <> 0 AS annotated
FROM naia_values AS v
JOIN naia_points AS p USING (point_id)
LEFT JOIN naia_states AS s USING (state_id);
