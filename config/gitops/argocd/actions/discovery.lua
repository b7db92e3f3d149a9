-- Argo CD actions of SecurityGroupTightening and SecurityGroupCompaction: approve-plan while a plan
-- awaits approval, revert while an apply is in effect.
local actions = {}
local status = obj.status or {}
local spec = obj.spec or {}
local hash = status.plan and status.plan.hash or ""
local awaiting = status.phase == "AwaitingApproval" and hash ~= "" and spec.approved ~= hash
actions["approve-plan"] = { ["disabled"] = not awaiting }
local applied = status.applied
local in_effect = applied ~= nil and applied.revertedAt == nil and spec.revert ~= true
actions["revert"] = { ["disabled"] = not in_effect }
return actions
