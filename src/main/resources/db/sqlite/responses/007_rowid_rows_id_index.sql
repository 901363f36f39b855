-- Schema 7 of the response store (see 004 for how these files are applied).
--
-- The table is a rowid table again, its rows in the order they were saved, with an index of ids
-- beside it (as in schema 4). Keyed by the id (schema 5), a response of the bench's size (~880
-- bytes, four to a 4 KB page) went into the key's B-tree, where SQLite balances a full leaf with
-- its siblings, so a commit of seven saves rewrote about nine pages into the write-ahead log (and
-- again at the checkpoint). Rows appended to a rowid table go into a fresh leaf as they come (the
-- full one is left as it is), and the index of ids takes ~60 bytes a save: seven pages a commit,
-- a fifth less to write, checksum and checkpoint. Lookups by id go through the index, one more
-- B-tree read each; the sweep's range of ids is a range of the index.

CREATE TABLE responses_v7 (id TEXT PRIMARY KEY NOT NULL, owner TEXT, conversation TEXT NOT NULL, previous_id TEXT,
    created_at INTEGER NOT NULL, provider TEXT, model TEXT, response TEXT NOT NULL, input_items TEXT NOT NULL,
    chars INTEGER NOT NULL, history TEXT, omitted INTEGER);

INSERT INTO responses_v7 (id, owner, conversation, previous_id, created_at, provider, model, response, input_items, chars, history, omitted)
SELECT id, owner, conversation, previous_id, created_at, provider, model, response, input_items, chars, history, omitted FROM responses ORDER BY id;

DROP TABLE responses;
ALTER TABLE responses_v7 RENAME TO responses;

CREATE INDEX responses_by_conversation ON responses (conversation) WHERE previous_id IS NOT NULL;
CREATE INDEX responses_unordered_started_by_created ON responses (created_at) WHERE previous_id IS NULL AND length(id) <> 49;
