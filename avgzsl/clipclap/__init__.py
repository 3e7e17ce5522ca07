"""ClipClap: the network, its training, the two-stage protocol, evaluation and the report (docs/method.md)."""
