-- 0002 down
-- harness:loses-data drops the four auth tables 0002 creates
-- squawk-ignore-file prefer-robust-stmts
DROP TABLE auth.user_preferences;
DROP TABLE auth.api_keys;
DROP TABLE auth.sessions;
DROP TABLE auth.users;
