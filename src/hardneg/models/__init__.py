"""Model resolution, loading, fingerprints, sequence length and runtimes (precision): below every stage."""
