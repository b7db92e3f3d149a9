-- Restores the rules recorded before the last apply: sets spec.revert to true.
if obj.status == nil or obj.status.applied == nil then
  error("nothing to revert: no apply is recorded in status.applied", 0)
end
obj.spec.revert = true
return obj
