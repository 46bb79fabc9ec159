"""Supervisor analytics: SLA figures per week or month from the report read models, the team
review flags, exports, and the what-if simulation of another policy over recorded complaints.
Pure computation: the rows come from store.report_model, the clock and policy from the caller."""
