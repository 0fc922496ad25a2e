//! Introspection: reads a live database into the schema IR with a constant number of catalog queries.
