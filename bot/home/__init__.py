"""The App Home: what each person sees, and publishing it."""
