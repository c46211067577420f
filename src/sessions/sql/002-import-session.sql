-- Migration 002: import a whole session with its own cursors (`bot session migrate`).
--
-- Creates the session only if it does not exist (a fence tombstone or a recorded fence counts
-- as not existing; its fence is kept if higher). Entries keep their cursors and timestamps;
-- they must be consecutive and end at or below p_last. Returns 0 imported, -5 already exists.
CREATE FUNCTION __SCHEMA__.import_session(
  p_id bytea, p_created bigint, p_updated bigint, p_last bigint, p_fence bigint, p_metadata json,
  p_cursors bigint[], p_ts bigint[], p_roles text[], p_contents bytea[], p_entry_metadata json[],
  p_inbound bytea[], p_inbound_cursors bigint[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  s __SCHEMA__.sessions;
BEGIN
  s := __SCHEMA__.lock_session(p_id);
  IF s.created_at IS NOT NULL THEN RETURN -5; END IF;
  INSERT INTO __SCHEMA__.entries (sid, cursor, ts, role, content, metadata)
    SELECT s.sid, x.c, x.t, x.r, x.b, x.m FROM unnest(p_cursors, p_ts, p_roles, p_contents, p_entry_metadata) AS x(c, t, r, b, m);
  INSERT INTO __SCHEMA__.inbound_ids (sid, inbound_id, first_cursor)
    SELECT s.sid, x.i, x.c FROM unnest(p_inbound, p_inbound_cursors) AS x(i, c)
    ON CONFLICT DO NOTHING;
  UPDATE __SCHEMA__.sessions SET
    created_at = p_created,
    updated_at = p_updated,
    last_cursor = p_last,
    kept_from = COALESCE(p_cursors[1], p_last + 1),
    fence = GREATEST(fence, p_fence),
    metadata = p_metadata
  WHERE sid = s.sid;
  RETURN 0;
END $$;
