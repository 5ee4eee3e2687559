#!/bin/sh
echo "args: $1 $2" > "$3/script.txt"
