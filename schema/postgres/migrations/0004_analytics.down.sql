-- 0004 down
-- harness:loses-data drops the four analytics tables 0004 creates
-- squawk-ignore-file prefer-robust-stmts
DROP TABLE analytics.api_metrics;
DROP TABLE analytics.daily_stats;
DROP TABLE analytics.user_activity;
DROP TABLE analytics.technique_effectiveness;
