/** Any JSON value (stored configs, samples and checkpoints; src/store re-exports it). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
