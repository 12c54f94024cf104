from sim.cli import main

if __name__ == "__main__":  # sweep workers start by spawning: they must not rerun the command line
    main()
