"""What happens to response bodies: the hook a transport hands each body to
(:mod:`.hook`), fields computed from it (:mod:`.extract`, ``--extract``) and bodies saved
to files (:mod:`.savedir`, ``--save-dir``)."""
