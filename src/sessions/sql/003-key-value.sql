-- Small atomic key-value maps per namespace (adapter state that lives with the sessions, e.g. a
-- WhatsApp linked device's keys). Writes of one namespace run in one transaction.
CREATE TABLE __SCHEMA__.key_value (
  namespace text NOT NULL,
  key text NOT NULL,
  value text NOT NULL,
  PRIMARY KEY (namespace, key)
);
