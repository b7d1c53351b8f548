//! Shared helpers for kreplay benchmarks.
