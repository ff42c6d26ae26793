-- Fixed-window request counters (per client IP on the auth endpoints), shared by replicas.
CREATE TABLE rate_limits (
    key TEXT NOT NULL,
    window_start TEXT NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);
