from .cli import entry

# Guarded: the `processes` mode's workers re-import the main module when they start.
if __name__ == "__main__":
    entry()
