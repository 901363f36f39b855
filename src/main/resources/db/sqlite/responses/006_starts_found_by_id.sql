-- Schema 6 of the response store (see 004 for how these files are applied).
--
-- A response that starts a conversation was an entry in an index of starts by creation time, which
-- the sweep reads to find conversations never continued: one more B-tree that every such save wrote
-- a page of. Ids Skiff makes now (resp_, 12 hex digits of the time in ms, 32 random: 49 characters)
-- are in order of creation, and the table is keyed by them, so the sweep finds those starts by a
-- range of ids. Only rows whose ids are of another shape (made before ids were in time order) stay
-- in the index, which new saves no longer write.

DROP INDEX responses_started_by_created;
CREATE INDEX responses_unordered_started_by_created ON responses (created_at) WHERE previous_id IS NULL AND length(id) <> 49;
