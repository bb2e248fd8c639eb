from shop.cart import Cart
from shop.report import receipt


def test_cart_total():
    cart = Cart()
    cart.add("tea", 2.5)
    cart.add("cake", 4.0)
    assert cart.total() == 6.5
    assert cart.total(0.5) == 3.25


def test_receipt():
    assert receipt({"tea": 2.5}).endswith("total: 2.50")
