// For programs built on the test helpers (the demo, benchmarks, VM guest programs): a teardown list like
// tap's, run however the program ends.
export interface Script {
  t: { teardown(fn: () => void): void }
  run(main: () => Promise<void>, label: string): void
}

export function script(): Script {
  const cleanups: (() => void)[] = []
  return {
    t: { teardown: (fn) => cleanups.unshift(fn) },
    run(main, label) {
      main()
        .catch((e) => {
          console.error(`${label} failed: ${(e as Error).message}`)
          process.exitCode = 1
        })
        .finally(() => {
          for (const c of cleanups) {
            try {
              c()
            } catch {
              /* best effort: the rest still runs */
            }
          }
        })
    },
  }
}
