-- Argo CD health of every sg-tightener kind (SecurityGroupTightening, BreakGlassExtension,
-- OrgRiskScan, SecurityGroupCompaction), read from status.phase and the kstatus conditions.
--   a plan awaiting approval  -> Suspended (the message says how to approve)
--   Applying, Analysing, ...   -> Progressing
--   Halted, Failed, Stalled    -> Degraded
--   Applied, Reverted, Ready   -> Healthy
local hs = { status = "Progressing", message = "waiting for sg-tightener to report a status" }
if obj.status == nil then
  return hs
end

local conditions = {}
if obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    conditions[condition.type] = condition
  end
end
local ready = conditions["Ready"]
local phase = obj.status.phase or ""

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "sg-tightener has not observed generation " .. generation .. " yet"
  return hs
end

local function message(condition)
  if condition ~= nil and condition.message ~= nil and condition.message ~= "" then
    return condition.message
  end
  return phase
end

local stalled = conditions["Stalled"]
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.reason .. ": " .. message(stalled)
  return hs
end
if phase == "Halted" or phase == "Failed" or phase == "PartiallyApplied" then
  hs.status = "Degraded"
  hs.message = phase .. ": " .. message(ready)
  return hs
end
if phase == "AwaitingApproval" and ready ~= nil and ready.reason == "AwaitingApproval" then
  hs.status = "Suspended"
  hs.message = message(ready) .. " (or run the approve-plan action)"
  return hs
end
local progressing = { Pending = true, Analysing = true, Applying = true, Reverting = true, Scanning = true }
local reconciling = conditions["Reconciling"]
if progressing[phase] or (reconciling ~= nil and reconciling.status == "True") then
  hs.message = message(reconciling or ready)
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = message(ready)
  return hs
end
if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = ready.reason .. ": " .. message(ready)
  return hs
end
hs.message = message(ready)
return hs
