"""Background work (reminders, purges, exports, mail) on procrastinate's PostgreSQL queue.

Empty until the jobs issue lands; jobs call the same domain modules as the views and never import views.
"""
