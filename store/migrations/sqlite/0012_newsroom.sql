-- An article an editor retracted: gone from every list, the ranking, the
-- digest and its archive; its tracked link shows a notice instead of
-- redirecting. NULL: not retracted.
ALTER TABLE articles ADD COLUMN retracted_at INTEGER;
-- A reader's choices beyond the quiet hours: breaking news with a sound
-- even during them (1; 0: silently), and whether a flood of waiting news
-- comes as one list (1) or as full posts one after another (0).
ALTER TABLE chats ADD COLUMN breaking_sound INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chats ADD COLUMN bundle INTEGER NOT NULL DEFAULT 1;
