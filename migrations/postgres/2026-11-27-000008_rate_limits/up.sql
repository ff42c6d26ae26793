-- Fixed-window request counters (per client IP on the auth endpoints), shared by replicas.
CREATE TABLE rate_limits (
    key text NOT NULL,
    window_start timestamptz NOT NULL,
    hits integer NOT NULL,
    PRIMARY KEY (key, window_start)
);
