-- 0003 down
-- harness:loses-data drops the prompts tables 0003 creates
-- squawk-ignore-file prefer-robust-stmts
DROP TABLE prompts.collection_prompts;
DROP TABLE prompts.collections;
DROP TABLE prompts.saved_prompts;
DROP TABLE prompts.intent_patterns;
DROP FUNCTION prompts.intent_patterns_normalize();
DROP TABLE prompts.history;
DROP TABLE prompts.templates;
DROP FUNCTION prompts.templates_fill_slug();
DROP FUNCTION prompts.slugify(text);
