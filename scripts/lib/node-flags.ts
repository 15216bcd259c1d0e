/**
 * Node flags of every API process (`pnpm start`, `pnpm scale-out`, the API package's `start`
 * script and the benchmarks, which start it the same way).
 *
 * `--max-semi-space-size=64`: V8's young generation grows to 64 MB per semi-space instead of
 * 16 MB. At 150 reads/s of a resources page, the API scavenged every 0.3 s for 4-15 ms each
 * (20 pauses, 148 ms in 5.3 s); with 64 MB, 3 pauses of at most 5 ms (12 ms) in 4.4 s. Each
 * pause holds every request in flight, so fewer pauses mean a shorter tail. It costs up to
 * about 100 MB more memory per API process under load.
 */
export const API_NODE_FLAGS = ['--max-semi-space-size=64'] as const;
