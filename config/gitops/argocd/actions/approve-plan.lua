-- Approves the plan shown in status: copies status.plan.hash into spec.approved. The operator
-- applies only that exact plan, and only while the live rules still match it.
if obj.status == nil or obj.status.plan == nil or obj.status.plan.hash == nil or obj.status.plan.hash == "" then
  error("there is no plan to approve yet: wait until status.plan.hash is set", 0)
end
obj.spec.approved = obj.status.plan.hash
return obj
