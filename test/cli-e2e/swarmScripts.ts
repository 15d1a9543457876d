/**
 * The fake model server's part in a real `oompa swarm`: a worker that claims
 * the first available task, commits out/<task>.txt and signals it is ready, fixes
 * a NEEDS_CHANGES review, and is done when nothing is left; a reviewer that
 * asks for changes in round 1 and approves after (swarm.test.ts tells the story).
 */
import type * as FakeModelServer from "../fake-model-server/server.js"

const ID = "[A-Za-z0-9._-]+"

export const workerScript: FakeModelServer.Script = {
  name: "worker",
  match: "\\[oompa:[0-9a-f]+:w\\d+\\]",
  captures: {
    TASK: `^Available tasks:\\n- (${ID})`,
    CLAIMED: `^- (${ID}): claimed`
  },
  rules: [
    { lastUser: "## Review feedback", afterToolResult: true, step: { text: "Added the second line.\nCOMPLETE_AND_READY_FOR_MERGE" } },
    {
      lastUser: "## Review feedback",
      step: { shell: `echo "second line" >> out/{{CLAIMED}}.txt && git add out && git commit -qm "{{CLAIMED}}: second line" && echo fixed` }
    },
    { lastUser: `^- ${ID}: claimed`, afterToolResult: true, step: { text: "Wrote out/{{CLAIMED}}.txt.\nCOMPLETE_AND_READY_FOR_MERGE" } },
    {
      lastUser: `^- ${ID}: claimed`,
      step: {
        shell: `mkdir -p out && echo "{{CLAIMED}} done" > out/{{CLAIMED}}.txt && git add out && git commit -qm "{{CLAIMED}}: write out/{{CLAIMED}}.txt" && echo committed`
      }
    },
    { lastUser: "No pending tasks are available to claim", step: { text: "Nothing left for me.\n__DONE__" } },
    { lastUser: "^Available tasks:", step: { text: "I will take the first task.\nCLAIM({{TASK}})" } }
  ],
  fallback: { text: "Nothing left for me.\n__DONE__" }
}

export const reviewerScript: FakeModelServer.Script = {
  name: "reviewer",
  match: "\\[oompa:[0-9a-f]+:w\\d+:review\\]",
  rules: [
    { lastUser: "## Review round 1 of", step: { text: "The file needs a second line.\nVERDICT: NEEDS_CHANGES" } },
    { lastUser: "## Review round \\d+ of", step: { text: "Good now.\nVERDICT: APPROVED" } }
  ]
}
