"""BetterPrompts, the engine's first domain: the data layer, the seed generators, the keyspace
contract, the mutant catalogue and the `seed` and `hash-password` commands. It plugs into the
engine (`harness`) through `betterprompts_db.plugin`; the engine never imports it."""
