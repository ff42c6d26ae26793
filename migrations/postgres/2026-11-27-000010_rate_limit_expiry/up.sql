-- Old windows of every key are deleted as new ones are counted: index them by time.
CREATE INDEX rate_limits_window ON rate_limits (window_start);
