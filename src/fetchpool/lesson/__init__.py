"""The lesson: the counting machine (:mod:`.counter`), the demo (:mod:`.demo`) and
``fetchpool bench`` (:mod:`.bench`). Nothing on the fetching path imports it."""
