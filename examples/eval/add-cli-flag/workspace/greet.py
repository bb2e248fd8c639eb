"""Print a greeting: python greet.py NAME [--greeting WORD]."""

import argparse


def main(argv=None):
    parser = argparse.ArgumentParser(description="Greet someone.")
    parser.add_argument("name")
    parser.add_argument("--greeting", default="Hello")
    args = parser.parse_args(argv)
    print(f"{args.greeting}, {args.name}!")


if __name__ == "__main__":
    main()
