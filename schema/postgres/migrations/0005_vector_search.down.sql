-- 0005 down
-- squawk-ignore-file prefer-robust-stmts
DROP TABLE prompts.embeddings;
