"""deepkern.models: complete models of the course, built from deepkern.nn."""
