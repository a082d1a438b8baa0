-- 0005 down
-- harness:loses-data drops prompts.embeddings, which 0005 creates
-- squawk-ignore-file prefer-robust-stmts
DROP TABLE prompts.embeddings;
