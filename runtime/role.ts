/** What one process runs: `all` (embedded: API + worker in one process), `api` or `worker` (scaled mode). */
export type Role = 'all' | 'api' | 'worker'
