"""Stand-ins for the sources connectors read (one module per source), for tests only."""
