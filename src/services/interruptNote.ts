/**
 * What the edge (bin.ts) says on stderr at the first SIGINT/SIGTERM. The
 * default is the swarm's ("stopping: agents get 5 s…"); a command that runs
 * no agents says what an interrupt means for it instead — `oompa watch` only
 * leaves, and must not sound as if the swarm it watches were being stopped.
 */
let note = "oompa: stopping (agents get 5 s to exit; press Ctrl-C again to kill them now)"

export const setInterruptNote = (text: string): void => {
  note = text
}

export const interruptNote = (): string => note
