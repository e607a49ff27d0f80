"""Training recipe for rtmusic: data rendering (build_data), mixing (mixer), and the trainer."""
