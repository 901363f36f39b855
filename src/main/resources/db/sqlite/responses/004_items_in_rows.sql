-- Schema 4 of the response store (schemas 1-3 are made and migrated by ResponseStore.migrate, which
-- then applies this folder's files in order; their number is the schema version they bring).
--
-- Each response is one row again: its output inside the response object, its own input items (with
-- item_reference inputs kept as references) in input_items. Schema 3 wrote one response_items row
-- per item, each a row of its own and an entry of an index: a save of two items touched five B-trees
-- and parsed the response twice in SQL, about half of a translated answer's CPU. What item ids are
-- for (resolving an item_reference) now takes a small table of ids alone, pointing at the response
-- whose row holds the item; new ids are in time order, so a batch of saves appends to its last page.
-- Conversations and the response-by-conversation index are written for follow-ups only: a response
-- that starts a conversation is its own conversation, and sweeping finds those by creation time.

CREATE TABLE responses_v4 (id TEXT PRIMARY KEY, owner TEXT, conversation TEXT NOT NULL, previous_id TEXT,
    created_at INTEGER NOT NULL, provider TEXT, model TEXT, response TEXT NOT NULL, input_items TEXT NOT NULL,
    chars INTEGER NOT NULL, history TEXT);

-- A row whose response was not JSON kept it whole in schema 3 (no output items were split from it).
INSERT INTO responses_v4 (id, owner, conversation, previous_id, created_at, provider, model, response, input_items, chars, history)
SELECT r.id, r.owner, r.conversation, r.previous_id, r.created_at, r.provider, r.model,
    CASE WHEN json_valid(r.response) THEN json_set(r.response, '$.output', json((SELECT json_group_array(json(o.item) ORDER BY o.position)
        FROM response_items o WHERE o.response_id = r.id AND o.output = 1))) ELSE r.response END,
    (SELECT json_group_array(json(i.item) ORDER BY i.position) FROM response_items i WHERE i.response_id = r.id AND i.output = 0),
    r.chars, r.history
FROM responses r;

-- Which response holds an item (output 1: in its output; 0: in its input). References are not items.
CREATE TABLE item_ids (item_id TEXT NOT NULL, response_id TEXT NOT NULL, output INTEGER NOT NULL,
    PRIMARY KEY (item_id, response_id)) WITHOUT ROWID;

INSERT OR IGNORE INTO item_ids (item_id, response_id, output)
SELECT item_id, response_id, output FROM response_items WHERE item_id IS NOT NULL ORDER BY output DESC;

DROP TABLE response_items;
DROP TABLE responses;
ALTER TABLE responses_v4 RENAME TO responses;

-- Every response of schema 3 has its conversation row; from now on only conversations with follow-ups do.
CREATE INDEX responses_by_conversation ON responses (conversation) WHERE previous_id IS NOT NULL;
CREATE INDEX responses_started_by_created ON responses (created_at) WHERE previous_id IS NULL;
