"""A script with a main() function and the usual __main__ guard."""
import torch


def main():
    x = torch.tensor(3.0, requires_grad=True)
    y = x**2 + 2 * x
    y.backward()
    print(f"dy/dx at 3 = {x.grad.item()}")
    return y


if __name__ == "__main__":
    result = main()
    print(result)
