"""Patient charts: teeth, findings and their drawing, medical history, fee schedule, plans and signed notes."""
