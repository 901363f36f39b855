-- Schema 5 of the response store (see 004 for how these files are applied).
--
-- The table is keyed by the response id itself (WITHOUT ROWID): with a rowid, the id's primary key
-- was an index of its own, a fourth B-tree that every save wrote a page of (in the write-ahead log,
-- and again at each checkpoint). Rows are small now, so they sit in the key's B-tree well.
--
-- omitted: the characters of the response object that its row leaves out, NULL for a row that
-- holds the object whole (every row before this schema). New rows keep the object without the
-- members holding the API's defaults, most of a short answer's bytes, and the gateway rebuilds
-- them on read; output items stay where json_extract(response, '$.output') finds them.

CREATE TABLE responses_v5 (id TEXT PRIMARY KEY, owner TEXT, conversation TEXT NOT NULL, previous_id TEXT,
    created_at INTEGER NOT NULL, provider TEXT, model TEXT, response TEXT NOT NULL, input_items TEXT NOT NULL,
    chars INTEGER NOT NULL, history TEXT, omitted INTEGER) WITHOUT ROWID;

INSERT INTO responses_v5 (id, owner, conversation, previous_id, created_at, provider, model, response, input_items, chars, history)
SELECT id, owner, conversation, previous_id, created_at, provider, model, response, input_items, chars, history FROM responses;

DROP TABLE responses;
ALTER TABLE responses_v5 RENAME TO responses;

CREATE INDEX responses_by_conversation ON responses (conversation) WHERE previous_id IS NOT NULL;
CREATE INDEX responses_started_by_created ON responses (created_at) WHERE previous_id IS NULL;
