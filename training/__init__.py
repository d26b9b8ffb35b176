"""Training: import labelled corpora, split without leakage, fit, evaluate, write the artifact."""
